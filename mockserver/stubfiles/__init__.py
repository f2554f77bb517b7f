"""mockserver's own stub-file format: documents with positions, parsing, admin input."""
