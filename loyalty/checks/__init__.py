"""System checks of the project's own settings (registered by ``apps.ChecksConfig.ready``)."""
