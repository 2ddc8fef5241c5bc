"""Output without numerics: result directories, VTK/JSON files, and every figure (drawn from the files)."""
