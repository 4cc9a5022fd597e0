"""The region's registry: insurers, clinics, representatives and clinic systems' API keys."""
