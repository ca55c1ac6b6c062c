"""Stage 5, the perturbation-recovery experiment: plan and run (run.py), metric definitions (metrics.py)."""
