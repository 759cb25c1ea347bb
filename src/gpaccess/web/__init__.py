"""The web application and JSON API (`gpaccess serve`): pages, API and public publication over the services."""
