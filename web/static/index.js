// Show the address this page was loaded from in the example.
document.getElementById("base").textContent = window.location.origin;
