"""ESPnet task glue: our task classes register the frontends at import."""
