"""The run store: every training's settings, history, metrics and model files in one home directory."""
