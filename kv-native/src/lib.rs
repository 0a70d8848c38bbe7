//! Native adapter: placeholder until the file store lands.
