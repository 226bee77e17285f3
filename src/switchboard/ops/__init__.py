"""What operators and tools use beside the product API: health, metrics, the API documentation
pages, and the HTTP server's options. App-level (it reads the process's `Runtime`), so that core
stays free of it."""
