"""Text to speech for the village loudspeaker: espeak-ng (and lame for MP3), Debian's packages."""
