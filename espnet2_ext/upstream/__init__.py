"""SSL upstream checkpoints made on this machine, in s3prl's converted format."""
