"""Digital sales: the configurator and its codes, leads, opportunities, pipeline analytics, online orders."""
