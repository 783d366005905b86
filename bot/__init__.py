"""Reviewer: a GitHub App that keeps pull-request reviews moving and gates releases."""

__version__ = "0.1.0"
