"""The package version, in one place: the build reads it (pyproject.toml) and so does the code."""

__version__ = "0.1.0"
