"""Reading the plan, roster and rota files: every error names its file, line and field."""
