"""The InferenceComponent shell: observe, plan, execute."""
