"""Load generators and scale data for Boxoffice; each script prints one JSON object."""
