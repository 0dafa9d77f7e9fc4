"""What the gateway keeps or reads besides Kafka: accepted submissions, the warehouse reader."""
