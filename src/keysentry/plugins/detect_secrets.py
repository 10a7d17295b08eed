"""Where baselines made with keysentry 0.1 point: detect-secrets loads this file by path.

The plugin lives in ``keysentry.integrations.detect_secrets``; this file re-exports it so
that a baseline recording ``…/keysentry/plugins/detect_secrets.py`` still loads.
"""

from keysentry.integrations.detect_secrets import DeepSeekDetector

__all__ = ["DeepSeekDetector"]
