"""Outputs: charts, tables and files that leave gpaccess. Practices are compared, never ranked."""
