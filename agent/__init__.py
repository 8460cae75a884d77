"""Regulatory-compliance agent for virtual-asset businesses."""

__version__ = "0.1.0"
