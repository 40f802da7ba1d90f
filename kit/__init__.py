"""kit: the library every chapter of the sparse-scaling-laws book stands on."""
