"""keysentry: find DeepSeek API keys in files, git history and client bundles."""

__version__ = "0.1.0"
