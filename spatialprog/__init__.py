"""spatialprog: integraal programmeren of the Dutch energy system."""

__version__ = "0.1.0"

__all__ = ["__version__"]
