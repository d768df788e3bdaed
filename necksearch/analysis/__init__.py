"""Analysis tools: peak-memory measurement and the per-operation cost benchmark."""
