"""gpaccess: fair, non-judgmental support for GP practice access, built for ICBs."""

__version__ = "0.1.0"
