"""Case files end to end: the TOML schema, running a case, ``[sweep]``, ``fpsolve validate``, ``info``."""
