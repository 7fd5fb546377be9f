"""Hardware profiles (YAML data, one file per robot); loaded by robocritic.profiles."""
