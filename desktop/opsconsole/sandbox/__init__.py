"""The reference backend of the system the console operates: a separate system that ships alongside."""
