"""torch.serialization: save and load (the same functions as framework.save / framework.load)
and the allow-list of globals that weights_only loading accepts."""
from framework.io import CheckpointError, UnpicklingRefused, get_unsafe_globals_in_checkpoint, load, save
from framework.io.safe_globals import add_safe_globals, clear_safe_globals, get_safe_globals, safe_globals

__all__ = ["save", "load", "add_safe_globals", "get_safe_globals", "clear_safe_globals", "safe_globals",
           "get_unsafe_globals_in_checkpoint", "CheckpointError", "UnpicklingRefused"]
