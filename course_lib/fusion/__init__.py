"""The fusion families, one module per family. Each module is generated from its chapter's notebook
(`make export`): edit the notebook, not the module."""
