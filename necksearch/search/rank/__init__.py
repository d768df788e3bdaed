"""Ranking graphs without training them to the end: zero-cost scores, the supernet, the statistics of agreement."""
