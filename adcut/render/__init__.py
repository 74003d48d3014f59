"""EditPlan -> Timeline -> one ffmpeg filtergraph: subtitles, audio mix, QC and exports."""
