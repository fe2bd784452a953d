// Placeholder until the fake LLM server lands.
int main() { return 0; }
