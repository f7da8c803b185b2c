"""The research cohort package: de-identified images, annotations and tables."""
