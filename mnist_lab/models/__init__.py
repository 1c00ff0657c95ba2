"""What network to build and how to train it: configs, the registries of architectures, losses, optimizers and
schedules (each choice with its reason), and the presets."""
