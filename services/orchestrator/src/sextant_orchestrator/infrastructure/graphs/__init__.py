"""The LangGraph agent workflow: nodes and the graph that wires them."""
