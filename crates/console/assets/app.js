document.getElementById('app').textContent = 'forcebus console';
