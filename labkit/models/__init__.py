"""The lab's models, one file each: config dataclass, modules, and the loss beside the model."""
