"""Voice: text to speech for the voice-over (tts) and speech recognition for datasets (asr)."""
