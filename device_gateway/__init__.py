"""Device gateway: MQTT in, validated readings and events out to the timelines."""
