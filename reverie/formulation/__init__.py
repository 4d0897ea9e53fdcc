"""formulation."""
