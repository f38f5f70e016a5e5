"""aptstack: deploy OpenStack test clouds from distribution packages."""

__version__ = "0.1.0"
