// Sends the chosen or dropped photo to POST count?annotate=1 (asking for JSON) and shows the answer.
"use strict";

const ORDER = ["quarter", "dime", "nickel", "penny"];

function dollars(value) {
  return "$" + value.toFixed(2);
}

function show(body) {
  document.getElementById("total").textContent = dollars(body.total);
  const rows = document.querySelector("#coins tbody");
  rows.replaceChildren();
  for (const name of ORDER) {
    const coins = body.coins.filter((coin) => coin.denomination === name);
    if (coins.length === 0) continue;
    const row = rows.insertRow();
    row.dataset.denomination = name;
    for (const text of [name, String(coins.length), dollars(coins.reduce((sum, c) => sum + c.value, 0))]) {
      row.insertCell().textContent = text;
    }
  }
  document.getElementById("annotated").src = body.annotated_image;
  document.getElementById("result").hidden = false;
}

async function count(file) {
  const status = document.getElementById("status");
  status.className = "";
  status.textContent = "Counting " + file.name + "…";
  document.getElementById("result").hidden = true;
  try {
    const response = await fetch("count?annotate=1", {
      method: "POST",
      body: file,
      headers: { "Content-Type": file.type || "application/octet-stream", Accept: "application/json" },
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    status.textContent = "Counted " + body.coins.length + " coins in " + file.name + ".";
    show(body);
  } catch (error) {
    status.className = "error";
    status.textContent = "Could not count " + file.name + ": " + error.message;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const input = document.getElementById("photo");
  const drop = document.getElementById("drop");
  input.addEventListener("change", () => input.files.length && count(input.files[0]));
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files.length) count(event.dataTransfer.files[0]);
  });
});
