"""The search's plain data: settings, the study's attributes, storage, rankers' names, seeded draws."""
