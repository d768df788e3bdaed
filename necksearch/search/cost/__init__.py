"""What a search costs and whether it fits: the plan, calibration, estimate, budget, preflight checks, and the measured noise and rank agreement it is judged by."""
