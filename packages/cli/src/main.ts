console.log('scopekeeper: commands arrive with the sidecar work');
