"""The bottom layer: errors and settings, importing nothing else of pypetx."""
