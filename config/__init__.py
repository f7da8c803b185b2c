"""Packaged configuration files (default.yaml, lexicon.yaml), installed as imncohort._config."""
