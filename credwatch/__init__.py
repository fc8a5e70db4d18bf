"""credwatch: catch shared and stolen Okta credentials of AI agents and people."""

__version__ = "0.1.0"
