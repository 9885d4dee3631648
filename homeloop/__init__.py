"""The thin shell of Homeloop: settings, database access, migrations, services and the CLI."""
