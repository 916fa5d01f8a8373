"""`flask --app app <group> <command>`: operator commands."""
